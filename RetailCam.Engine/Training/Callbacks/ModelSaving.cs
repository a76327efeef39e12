using System.Text.Json;
using System.Text.Json.Nodes;
using RetailCam.Engine.Models.Storage;

namespace RetailCam.Engine.Training.Callbacks;

/// <summary>
/// Every epoch's model as a complete folder (epochs/epoch-NNN, so maps can be compared across a
/// run), and the best so far in model/, so it can be served while training goes on.
/// </summary>
internal sealed class ModelSaving : ITrainingCallback
{
    public int Order => CallbackOrder.ModelSaving;

    public void OnEpochEnded(TrainingContext context, EpochEnded epoch)
    {
        var metrics = new JsonObject
        {
            ["validationAccuracy"] = epoch.Validation.Accuracy,
            ["validationLoss"] = epoch.Validation.Loss,
            ["epoch"] = epoch.Epoch,
            ["step"] = epoch.Step,
        };
        var training = JsonSerializer.SerializeToNode(context.Options, EngineJson.Options)!.AsObject();
        var manifest = ModelManifest.Describe(context.Network, context.Categories, context.Options.ImageSize, training, metrics, context.Options.Output);
        ModelFolder.Save(context.Run.Paths.EpochModelFolder(epoch.Epoch), context.Network, manifest);
        if (epoch.IsBest) ModelFolder.Save(context.Run.Paths.ModelFolder, context.Network, manifest);
    }
}
