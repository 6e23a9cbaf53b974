// Imported before onnxruntime-node: its native code starts a telemetry uploader at load time unless
// this is set, which a model server on an offline machine or device must not do.
process.env['ORT_DISABLE_TELEMETRY'] ??= '1';
