"""The local view's compact deny-list, in process: its checks, its table and its load."""
