"""The model and its training.

``spec`` (the network described once: inputs, embeddings in order, heads, the weight
arrays; no Keras), ``folder`` (a model folder read in one place: weights, vocabulary,
config, the run's state; Keras only to load model.keras), ``network`` (the Keras model:
embeddings -> LSTM stack -> four heads; keras.ops only, so every backend runs it),
``training`` (a corpus in, a run folder out: config, data, the run), ``loop`` (the Keras
side: ``PyDataset`` and callbacks), ``backend`` (which Keras backend and device).
Generation imports only ``spec`` and ``folder`` from here: it runs the exported weights in NumPy.
"""
