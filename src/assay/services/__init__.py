"""Use cases over the store: plain functions taking a session and an actor, no HTTP here.

One package per capability, each owning its rules once, layered so that each imports only
the ones below it (pyproject.toml's import-linter contracts check this):

    views                      read models: task list, data-manager table, My work, dashboard
    consensus | io | demo      merging annotators; files in and out; the demo project
    quality | gt_stage | review  scores and agreement; the lead's GT stage; reviews
    tasks                      tasks, annotations, predictions, media, what an actor may see
    ground_truth               one GT per task, bulk GT, history, GT sampling
    jobs                       jobs, queues, progress, hand-in
    honeypots                  settings, pool, rotation, answers, reports

and the shared base: access (every role and visibility rule), errors, checks, changes (the
label-change events), selection (data-manager selections and BulkResult), pagination,
background, users, projects, authors, annotator_work.
"""
