using TorchSharp;

namespace RetailCam.Engine.Training;

/// <summary>
/// Evaluation mode for one pass (validation, a snapshot), then every module back in the mode it
/// had. Module.train recurses, so restoring only the top flag would wake a backbone that the
/// head-only phase holds in evaluation mode; modules are restored parent first, so each child
/// ends in its own recorded mode.
/// </summary>
internal sealed class EvaluationMode : IDisposable
{
    private readonly (torch.nn.Module Module, bool Training)[] modes;

    public EvaluationMode(torch.nn.Module network)
    {
        modes = ParentsFirst(network).Select(m => (m, m.training)).ToArray();
        network.eval();
    }

    public void Dispose()
    {
        foreach (var (module, training) in modes) module.train(training);
    }

    private static IEnumerable<torch.nn.Module> ParentsFirst(torch.nn.Module module) =>
        module.children().SelectMany(ParentsFirst).Prepend(module);
}
