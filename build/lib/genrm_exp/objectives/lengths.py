"""Length-grouped batches for TRL trainers (trainer.args.train_sampling_strategy=group_by_length).

TRL tokenizes inside the trainer and keeps no length column, and transformers' LengthGroupedSampler
can only infer lengths from an `input_ids` column; preference data has `chosen_ids` / `rejected_ids`.
`group_by_length(trainer)` adds a `length` column (all token-id columns of a row, summed) to the
tokenized dataset so batches of similar length form and less compute goes to padding.
"""

from __future__ import annotations


def group_by_length(trainer):
    args = trainer.args
    if args.train_sampling_strategy != "group_by_length" or trainer.train_dataset is None:
        return trainer
    dataset = trainer.train_dataset
    if not hasattr(dataset, "column_names") or args.length_column_name in dataset.column_names:
        return trainer
    id_columns = [c for c in dataset.column_names if c == "input_ids" or c.endswith("_ids")]
    if not id_columns:
        raise ValueError(f"group_by_length: no token-id column in {dataset.column_names}")
    lengths = [sum(len(row[c]) for c in id_columns) for row in dataset.select_columns(id_columns)]
    trainer.train_dataset = dataset.add_column(args.length_column_name, lengths)
    # Keep the column through Trainer._remove_unused_columns; collators ignore keys they do not use.
    trainer._set_signature_columns_if_needed()
    if args.length_column_name not in trainer._signature_columns:
        trainer._signature_columns = [*trainer._signature_columns, args.length_column_name]
    return trainer
