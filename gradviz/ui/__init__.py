"""The Streamlit page, in pieces; `app.py` at the top of the repository puts them in order.

sidebar     language, lesson, device, display options
runs        lessons and pasted code run in a limited child process, cached
graphs      the display options; a finished graph's SVG, cached (the training view's picture)
stepper     backward() step by step: the HTML stepper (render/html.py) in a component frame
tensors     the table of a graph's tensors under the stepper
training_view, restoration_view, code_view, export, errors, uploads, running
kept        a few finished pictures and pages, kept across reruns
curves      the Training tab's logged numbers and gradient sizes per parameter
forward_view  forward mode: each op's value and tangent, in order
knobs       learning rate, iterations and seed of a training lesson, running it again with them
(the words: gradviz.words, English msgids with their translations in gradviz/words/locale)
"""
