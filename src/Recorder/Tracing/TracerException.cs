namespace MemNotebook.Recorder.Tracing;

/// <summary>The tracer refused to start or stop, with its reason.</summary>
public sealed class TracerException(string message) : Exception(message);
