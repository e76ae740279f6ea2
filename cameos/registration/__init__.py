"""Cameo registration: a challenge, a selfie (or a character's clip or photos), checks, a cameo."""
