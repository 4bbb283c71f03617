"""The model and its training.

``network`` (the Keras model: embeddings -> LSTM stack -> four heads; keras.ops only, so
every backend runs it), ``training`` (a corpus in, a run folder out: config, data, the run),
``loop`` (the Keras side: ``PyDataset`` and callbacks), ``backend`` (which Keras backend and
device).  Generation does not import this floor: it runs the exported weights in NumPy.
"""
