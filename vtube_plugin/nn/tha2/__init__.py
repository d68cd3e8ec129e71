"""THA2 (the seed paper's network): five stages built from the shared blocks; `network.THA2` holds them."""
