"""Where trained weights and sample characters live, and how `vtube-plugin models fetch` gets them."""
