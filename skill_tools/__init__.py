"""Developer tools beside the skill: the offline simulator, `ask`/`chat`, the console, lint and load tools.

They import the runtime package `skill`; nothing in `skill` imports them, and the Lambda artifact
carries none of them (the ASK SDK ships its core, adapters and local debugger apart the same way).
"""
