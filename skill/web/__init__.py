"""The web service: a Flask app around the one skill, with Alexa request verification."""
from skill.web.app import create_app

__all__ = ["create_app"]
