"""Small helpers every part of the core may use: HTTP clients, JSON files, URLs shown safely, fast-path counts."""
