"""THA3 (separable_float): five stages assembled from the shared blocks; `network.THA3` holds them."""
