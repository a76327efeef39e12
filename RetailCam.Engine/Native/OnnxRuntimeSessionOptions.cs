using Microsoft.ML.OnnxRuntime;

namespace RetailCam.Engine.Native;

/// <summary>How RetailCam runs ONNX Runtime everywhere it does: serving, the parity check, the benchmark.</summary>
public static class OnnxRuntimeSessionOptions
{
    /// <summary>One run at a time on <paramref name="threads"/> cores, every graph optimisation, idle threads that sleep.</summary>
    public static SessionOptions Create(int threads)
    {
        var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        // ONNX Runtime's idle pool threads spin between runs; in a process that also runs libtorch (training
        // beside serving, the benchmark's other contenders) they take its cores, while ONNX Runtime's own
        // speed is the same either way (the benchmark measured ~46 → ~40 img/s for TorchSharp beside spinning).
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }
}
