"""The truth checker: gradviz's values, gradients, steps, pictures and sentences against an
independent record of what PyTorch computed (reference.py). See test_programs.py for the
per-program checks and test_defects.py, test_lessons_truth.py, test_errors_truth.py for the
known defects of issue 14."""
