"""Demo data: a synthetic aerial wildlife survey, its annotators and a model, made offline."""
