"""The training data: sequences as token arrays, a folder as a cached corpus, windows to learn from.

``tokens`` (``Vocab`` owns every id and size; encode/decode), ``corpus`` (a folder of MIDI ->
cached sequences with a report on every file), ``dataset`` (split by file, windows, the 12-key
transposition).  Nothing here imports Keras.
"""
