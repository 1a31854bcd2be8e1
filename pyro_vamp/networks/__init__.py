"""The networks the models are made of: gated dense layers and Gaussian heads (:mod:`.dense`),
gated convolutional encoders (:mod:`.conv`), and the PixelCNN decoder (:mod:`.pixelcnn`).

This package imports none of them itself: the likelihood heads use :mod:`.dense`, and the
PixelCNN uses the likelihoods.
"""
