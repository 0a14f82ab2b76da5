"""Training and fine-tuning with the paper's recipe; Inception-v1 and inflation."""
