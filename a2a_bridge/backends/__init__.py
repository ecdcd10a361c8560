"""Model backends: ``Backend``, the vLLM tier profiles, topology files, the embedded CPU vLLM.

Neither serving nor calling agents; every model in adapters, demos and tests comes from here.
"""
