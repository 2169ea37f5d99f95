"""The web page (Gradio): the only package that imports gradio."""
