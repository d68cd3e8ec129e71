"""Network code: the seed paper's image operations, conv blocks, encoder-decoders, and the THA2/THA3 stages.

Pure `nn.Module`s; device, precision and caching belong to `vtube_plugin.render`.
"""
