using RetailCam.Web.Security;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Models.Storage;
using RetailCam.Storage;
using RetailCam.Web.Components.Compare;
using RetailCam.Web.Components.Predict;
using RetailCam.Web.Services;

namespace RetailCam.Web.Components.Pages;

public partial class Compare
{
    [CascadingParameter] private Task<Microsoft.AspNetCore.Components.Authorization.AuthenticationState>? SignedIn { get; set; }

    private const int DefaultClasses = 3;
    private const int DefaultModels = 4;

    private string? hash;
    private string? fileName;
    /// <summary>The serving model's prediction of the photo: it labels the class picker and gives the defaults.</summary>
    private Prediction? prediction;
    private ModelInfo? reference;
    private CompareMode mode = CompareMode.Classes;
    private IReadOnlyCollection<int> chosenClasses = [];
    private IReadOnlyCollection<string> chosenModels = [];
    private string? category;
    private ClassMapMethod method = ClassMapMethods.Default;
    private string colourMap = "jet";
    private bool showBoxes = true;
    private bool dragging;
    private bool busy;
    private string? notice;
    private List<TileState> tiles = [];
    // Choices can change while tiles are computed; only the newest set of tiles is shown.
    private int generation;

    [Inject] private PredictionService Predictions { get; set; } = null!;
    [Inject] private UploadStore Uploads { get; set; } = null!;
    [Inject] private NavigationManager Navigation { get; set; } = null!;

    [SupplyParameterFromQuery(Name = "photo")] public string? PhotoQuery { get; set; }

    private sealed record TileState(TileSpec Spec, ClassMapSummary? Summary, string? Error);

    private IReadOnlyList<ModelInfo> ChosenModelInfos =>
        Predictions.Models.Where(m => chosenModels.Contains(m.Id)).ToList();

    private IReadOnlyList<string> CategoryChoices => mode == CompareMode.Models
        ? ComparePlan.SharedCategories(ChosenModelInfos)
        : reference?.Categories ?? [];

    private string EmptyReason => mode switch
    {
        CompareMode.Classes => "Pick one or more categories.",
        CompareMode.Models when ChosenModelInfos.Count > 0 && CategoryChoices.Count == 0 => "The chosen models share no category: a class is compared across models by name.",
        CompareMode.Models => "Pick one or more models and a category they share.",
        _ => "Pick a category.",
    };

    protected override async Task OnParametersSetAsync()
    {
        if (PhotoQuery is null || string.Equals(PhotoQuery, hash, StringComparison.OrdinalIgnoreCase)) return;
        if (!UploadStore.IsValidHash(PhotoQuery) || await Uploads.FindAsync(PhotoQuery) is not { } upload)
        {
            notice = $"No uploaded photo has hash '{PhotoQuery}'.";
            return;
        }
        busy = true;
        try
        {
            if (await Predictions.EnsureModelAsync() is null) return;
            var result = await Predictions.PredictStoredAsync(upload.ContentHash, upload.FileName, TopAll());
            Show(result);
        }
        catch (ImageDecodeException ex)
        {
            notice = $"{upload.FileName}: {ex.Reason}";
            return;
        }
        catch (FileNotFoundException)
        {
            // The history still names the photo but its file was removed from the data folder.
            notice = $"The file of {upload.FileName} is no longer in the data folder.";
            return;
        }
        finally
        {
            busy = false;
        }
        await RefreshTilesAsync();
    }

    private async Task UploadAsync(IBrowserFile? file)
    {
        if (file is null) return;
        busy = true;
        notice = null;
        StateHasChanged();
        var outcome = await Predictions.PredictUploadAsync(file.Name, file.Size, limit => file.OpenReadStream(limit), TopAll(), owner: await SignedIn.NameAsync());
        busy = false;
        if (outcome.Result is not { } result)
        {
            notice = outcome.NoModel ? outcome.Error : outcome.Message;
            return;
        }
        Show(result);
        // The address names the photo, so the comparison can be reloaded or shared.
        Navigation.NavigateTo($"compare?photo={result.ContentHash}", replace: true);
        await RefreshTilesAsync();
    }

    private PredictRequestOptions TopAll() => new() { TopK = Math.Max(1, Predictions.ActiveModel?.Categories.Count ?? 1) };

    /// <summary>A new photo: defaults from the serving model's view of it, the choices of mode and method kept.</summary>
    private void Show(PhotoResult result)
    {
        hash = result.ContentHash;
        fileName = result.FileName;
        prediction = result.Prediction;
        reference = Predictions.Models.FirstOrDefault(m => m.Id == result.Prediction.ModelId) ?? Predictions.ActiveModel;
        if (reference is null) return;
        var indexOf = reference.Categories.Select((c, i) => (c, i)).ToDictionary(t => t.c, t => t.i);
        chosenClasses = result.Prediction.Top.Take(DefaultClasses).Select(s => indexOf[s.Category]).ToList();
        category = result.Prediction.Top[0].Category;
        if (chosenModels.Count == 0)
            chosenModels = Predictions.Models.Where(m => m.Categories.Contains(category)).Take(DefaultModels).Select(m => m.Id).ToList();
        KeepCategoryValid();
    }

    private async Task SelectModeAsync(CompareMode value)
    {
        mode = value;
        KeepCategoryValid();
        await RefreshTilesAsync();
    }

    private async Task SelectClassesAsync(IReadOnlyCollection<int>? values)
    {
        chosenClasses = values?.ToList() ?? [];
        await RefreshTilesAsync();
    }

    private async Task SelectModelsAsync(IReadOnlyCollection<string>? values)
    {
        chosenModels = values?.ToList() ?? [];
        KeepCategoryValid();
        await RefreshTilesAsync();
    }

    private async Task SelectCategoryAsync(string? value)
    {
        category = value;
        await RefreshTilesAsync();
    }

    private async Task SelectMethodAsync(ClassMapMethod value)
    {
        method = value;
        await RefreshTilesAsync();
    }

    /// <summary>A category the current choices cannot show is replaced by the first one they can.</summary>
    private void KeepCategoryValid()
    {
        var choices = CategoryChoices;
        if (category is null || !choices.Contains(category)) category = choices.Count > 0 ? choices[0] : null;
    }

    private async Task RefreshTilesAsync()
    {
        if (hash is null || reference is null) return;
        var run = ++generation;
        var specs = ComparePlan.Tiles(mode, reference, chosenClasses.Order().ToList(), ChosenModelInfos, category, method);
        tiles = specs.Select(s => new TileState(s, null, null)).ToList();
        StateHasChanged();
        // All at once: tiles of one model share the predictor's micro-batches.
        var done = await Task.WhenAll(specs.Select(s => DescribeAsync(hash, s)));
        if (run != generation) return;
        tiles = done.ToList();
    }

    private async Task<TileState> DescribeAsync(string photo, TileSpec spec)
    {
        try
        {
            return new TileState(spec, await Predictions.DescribeMapAsync(photo, spec.ModelId, spec.ClassIndex, spec.Method), null);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or ModelLoadException or FileNotFoundException or ArgumentOutOfRangeException or NoModelException)
        {
            // A model deleted or damaged since the page listed it spoils its own tile, not the others.
            return new TileState(spec, null, ex.Message);
        }
    }

    private string ClassLabel(int index) => prediction is { } p && index < p.Probabilities.Count
        ? $"{reference!.Categories[index]} ({CategoryPath.Format(p.Probabilities[index])})"
        : reference!.Categories[index];

    private string ShortClassName(int index) => reference is { } r && index >= 0 && index < r.Categories.Count ? CompareTile.ShortName(r.Categories[index]) : "";
}
