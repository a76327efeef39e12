using Microsoft.ML.OnnxRuntime;
using RetailCam.Engine.Models.Export;
using RetailCam.Engine.Native;
using static TorchSharp.torch;

namespace RetailCam.Engine.Inference;

/// <summary>
/// The served network's forward pass in ONNX Runtime (RetailCam:Inference:Runtime = onnxruntime), on the
/// model's own ONNX export: the same logits and CAM features as TorchSharp's float32 forward, so class
/// maps, boxes and probabilities are computed from them by the same code.
/// </summary>
internal sealed class OnnxRuntimeForward : IDisposable
{
    private readonly InferenceSession session;
    private readonly SessionOptions sessionOptions;
    private readonly string[] inputNames = [OnnxExport.InputName];
    private readonly string[] outputNames = [OnnxExport.LogitsName, OnnxExport.FeaturesName];

    /// <param name="modelFolder">One published version (or a folder of files), the one the TorchSharp copy was loaded from.</param>
    /// <param name="threads">Intra-op threads: libtorch's, so the two runtimes are held to the same cores.</param>
    public OnnxRuntimeForward(string modelFolder, int threads)
    {
        var export = OnnxExport.FromFolder(modelFolder);
        sessionOptions = OnnxRuntimeSessionOptions.Create(threads);
        session = new InferenceSession(export.Bytes, sessionOptions);
    }

    /// <summary>Logits [N,C] and features [N,K,h,w], float32 on the CPU, from RGB 0–255 images [N,3,H,W] in any layout.</summary>
    public (Tensor Logits, Tensor Features) Run(Tensor images)
    {
        // ONNX Runtime reads row-major NCHW floats; a channels-last batch is laid out again here.
        using var standard = images.to_type(ScalarType.Float32).cpu().contiguous();
        var shape = standard.shape;
        var pixels = standard.data<float>().ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(pixels, shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, inputNames, [input], outputNames);
        return (ToTensor(outputs[0]), ToTensor(outputs[1]));
    }

    private static Tensor ToTensor(OrtValue value) =>
        tensor(value.GetTensorDataAsSpan<float>().ToArray(), value.GetTensorTypeAndShape().Shape);

    public void Dispose()
    {
        session.Dispose();
        sessionOptions.Dispose();
    }
}
