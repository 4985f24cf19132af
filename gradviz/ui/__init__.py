"""The Streamlit page, in pieces; `app.py` at the top of the repository puts them in order.

sidebar     language, lesson, device, display options
runs        lessons and pasted code run in a limited child process, cached
graphs      one SVG per (recording, graph, step, options), drawn ahead in the background
stepper     backward() step by step: controls, graph, chain-rule card, source, tensors
training_view, restoration_view, code_view, export, errors, uploads
(the words: gradviz.words, English msgids with their translations in gradviz/words/locale)
"""
