// placeholder: the tokenizer library grows here (see issue 3).
