"""Files to samples: picture files, photos made MNIST-style, .npy/IDX/folders, worker decoding, the pixel fill."""
