"""The model as loaded: reading Keras and TFLite files safely, its inputs and outputs, the reference CNN."""
