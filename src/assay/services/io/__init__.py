"""Files in and out: importing COCO, YOLO, VOC, Scout CSV and Label Studio files as tasks,
annotations, GT or predictions (all or nothing, matched to existing images), and streaming a
project out in those formats.

Modules: label_files (importing them), unpacking (the files of one import, within its caps),
exporting. The formats themselves (parse, write) are assay.formats.
"""
