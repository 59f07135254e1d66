"""Profile photos: the pure re-encoding pipeline (``images``) and where the bytes live (``storage``)."""
