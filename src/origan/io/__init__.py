"""Files: checkpoints (safetensors + JSON, atomic), run directories, exports of samples."""
