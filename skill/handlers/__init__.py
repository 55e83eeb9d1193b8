"""Thin request handlers: slots in, knowledge asked, content keys out."""
