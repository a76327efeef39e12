using Microsoft.Extensions.Options;
using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Layout;
using RetailCam.Engine.Native;
using RetailCam.Storage;

namespace RetailCam.Web.Services;

/// <summary>
/// Measures a run's model on a labelled box set (a folder with boxes.csv, such as the demo scenes):
/// accuracy, MaxBoxAcc and mean IoU at the model's served default, and keeps MaxBoxAcc with the run.
/// </summary>
public sealed class BoxEvaluationService(DataRootLayout layout, TorchEnvironment torch, IOptions<PredictorOptions> inference, ImageFileDecoder decoder,
    RunHistory history, CatalogueJobs folders)
{
    public async Task<EvaluationReport> EvaluateAsync(string runId, int rootIndex, string folder, IProgress<(int Done, int Total)>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var boxSet = folders.Roots.Resolve(rootIndex, folder);
        if (!File.Exists(Path.Combine(boxSet, BoxesCsv.FileName)))
            throw new FileNotFoundException($"'{folder}' holds no {BoxesCsv.FileName}: a box set is a folder of photos with their labelled boxes (e.g. demo/scenes).");
        var model = layout.Run(runId).ModelFolder;
        if (!Directory.Exists(model)) throw new FileNotFoundException($"Run {runId} has no model yet.");
        using var predictor = Predictor.ForFolder(model, inference.Value, torch.Device, $"run:{runId}");
        var report = await new Evaluator(predictor, decoder).EvaluateAsync(boxSet, EvaluationSplit.All, (done, total) => progress?.Report((done, total)), cancellationToken);
        if (await history.GetAsync(runId, cancellationToken) is { } record)
        {
            record.EpochMetrics = [];
            record.MaxBoxAcc = report.MaxBoxAcc;
            await history.UpsertAsync(record, cancellationToken);
        }
        return report;
    }
}
