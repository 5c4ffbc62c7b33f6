"""Tasks and the labels they carry: importing tasks (JSON, a folder of images), changing and
soft-deleting them, their annotations (with revisions) and predictions, the results checked
against the label config, their local images, what of them an actor may see, and their Label
Studio JSON (the API's and the JSON export's).

Modules: visibility, results, importing, media, thumbnails, editing, annotations, predictions,
ls_json.
"""

from assay.services.tasks.editing import delete_selected_tasks, delete_task, update_task
from assay.services.tasks.importing import (
    BIG_IMPORT,
    ImportResult,
    import_tasks,
    refresh_after_import,
    refresh_statistics,
    register_images,
)
from assay.services.tasks.media import (
    IMAGE_SUFFIXES,
    MEDIA_URL,
    MediaScope,
    authorize_media_file,
    media_path_of,
    media_url,
    project_media_folder,
    resolve_media_path,
)
from assay.services.tasks.results import checked_result, label_config_of_project, prediction_row
from assay.services.tasks.thumbnails import thumbnail_url
from assay.services.tasks.visibility import (
    VISIBILITY_POLICIES,
    annotation_visibility,
    annotation_visible,
    counts_seen_by,
    get_task,
    neighbours,
    regions_of,
    resolve_task,
    result_seen_by,
    task_visibility,
)

__all__ = [
    "BIG_IMPORT",
    "IMAGE_SUFFIXES",
    "MEDIA_URL",
    "VISIBILITY_POLICIES",
    "ImportResult",
    "MediaScope",
    "annotation_visibility",
    "annotation_visible",
    "authorize_media_file",
    "checked_result",
    "counts_seen_by",
    "delete_selected_tasks",
    "delete_task",
    "get_task",
    "import_tasks",
    "label_config_of_project",
    "media_path_of",
    "media_url",
    "neighbours",
    "prediction_row",
    "project_media_folder",
    "refresh_after_import",
    "refresh_statistics",
    "regions_of",
    "register_images",
    "resolve_media_path",
    "resolve_task",
    "result_seen_by",
    "task_visibility",
    "thumbnail_url",
    "update_task",
]
