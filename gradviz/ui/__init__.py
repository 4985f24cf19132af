"""The Streamlit page, in pieces; `app.py` at the top of the repository puts them in order.

    app.py               the table of contents (the pieces in order) and the command that serves it
    page.py              the page around the pieces: set-up, the lesson header, one recording's views
    sidebar.py           language, lesson, device, display options
    runs.py              lessons and pasted code run in a limited child process, cached
    disk_cache.py        finished lesson runs kept on disk across server restarts (signed, read as JSON)
    running.py           while pasted code runs: a timer and a Stop button
    code_view.py         your code: an editor and a Run button (off on a public server)
    graphs.py            the display options; a finished graph's SVG, cached (the training view's picture)
    stepper.py           backward() step by step: the HTML stepper (render/html.py) in a component frame
    tensors.py           the table of a graph's tensors under the stepper
    training_view.py     training over time: loss curve, parameter trajectory, iteration table, pitfalls
    curves.py            the Training tab's logged numbers and gradient sizes per parameter
    forward_view.py      forward mode: each op's value and tangent, in order
    restoration_view.py  the image restoration lesson: upload, broken / restored / exact side by side
    uploads.py           that lesson's uploads: a picture, or the book's pickle read safely
    export.py            export buttons: the SVG, the standalone HTML stepper, the JSON recording
    errors.py            errors as lessons: the explained error box, a guard for the page's parts
    kept.py              a few finished pictures and pages, kept across reruns
    knobs.py             learning rate, iterations and seed of a training lesson, running it again with them
    playground.py        optimizers racing on a 2-D loss surface: contours, paths, each update's numbers

The words: gradviz.words (English msgids, their translations in gradviz/words/locale).
"""
