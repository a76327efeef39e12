namespace RetailCam.Engine.Models.Export;

/// <summary>
/// A network the ONNX export refuses because some part of it has no faithful ONNX form here (a trunk
/// it does not know, a padding mode ONNX's Conv lacks). The message names the part, so a user knows
/// what to change rather than receiving a file that computes something else.
/// </summary>
public sealed class OnnxExportException(string message) : Exception(message);
