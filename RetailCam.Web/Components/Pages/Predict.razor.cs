using RetailCam.Web.Security;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Inference;
using RetailCam.Web.Services;

namespace RetailCam.Web.Components.Pages;

public partial class Predict
{
    [CascadingParameter] private Task<Microsoft.AspNetCore.Components.Authorization.AuthenticationState>? SignedIn { get; set; }

    private const int MaxFiles = 50;
    private readonly List<UploadItem> items = [];
    private ModelInfo? model;
    private ClassMapMethod method = ClassMapMethods.Default;
    private string colourMap = "jet";
    private bool showBoxes = true;
    private bool showMask;
    private bool dragging;
    private int busy;

    [SupplyParameterFromQuery(Name = "model")] public string? ModelQuery { get; set; }

    /// <summary>A history entry to reopen: its photo, predicted again with the model that made it where that still exists.</summary>
    [SupplyParameterFromQuery(Name = "history")] public Guid? HistoryQuery { get; set; }

    [Inject] private RetailCam.Storage.PredictionHistory History { get; set; } = null!;

    private string? notice;

    /// <summary>One uploaded file: its result or the reason it could not be used.</summary>
    private sealed record UploadItem(Guid Key, string FileName, PhotoResult? Result, string? Error);

    protected override async Task OnInitializedAsync()
    {
        Predictions.ModelChanged += OnModelChanged;
        if (HistoryQuery is { } id && await History.GetAsync(id) is { } record)
        {
            var original = Predictions.Models.FirstOrDefault(m => m.Id == record.ModelId);
            model = await Predictions.EnsureModelAsync(original?.Id ?? ModelQuery);
            if (original is null)
                notice = $"The model that made this prediction ({record.ModelId}) no longer exists; shown with {model?.Id}.";
            if (ClassMapMethods.Find(record.Method) is { } stored) method = stored;
            var result = await Predictions.PredictStoredAsync(record.ContentHash, record.FileName, new PredictRequestOptions { TopK = 5, Method = method });
            items.Add(new UploadItem(Guid.NewGuid(), record.FileName, result, null));
            return;
        }
        model = await Predictions.EnsureModelAsync(ModelQuery);
    }

    private void OnModelChanged() => InvokeAsync(() =>
    {
        model = Predictions.ActiveModel;
        StateHasChanged();
    });

    private async Task SelectModelAsync(string id)
    {
        model = await Predictions.EnsureModelAsync(id);
        // Results of another model would mix categories: predict them again with the chosen one.
        busy++;
        try
        {
            for (var i = 0; i < items.Count; i++)
            {
                if (items[i].Result is not { } old) continue;
                var again = await Predictions.PredictStoredAsync(old.ContentHash, old.FileName, new PredictRequestOptions { TopK = 5 });
                items[i] = items[i] with { Key = Guid.NewGuid(), Result = again };
            }
        }
        finally
        {
            busy--;
        }
    }

    private async Task UploadAsync(IReadOnlyList<IBrowserFile>? files)
    {
        if (files is null || files.Count == 0) return;
        busy++;
        StateHasChanged();
        try
        {
            // Newest first, and each photo on its own: one bad file never stops the rest.
            foreach (var file in files)
            {
                var item = await PredictOneAsync(file);
                items.Insert(0, item);
                StateHasChanged();
            }
        }
        finally
        {
            busy--;
        }
    }

    private async Task<UploadItem> PredictOneAsync(IBrowserFile file)
    {
        var outcome = await Predictions.PredictUploadAsync(file.Name, file.Size, limit => file.OpenReadStream(limit), new PredictRequestOptions { TopK = 5 }, reviewSource: "page",
            owner: await SignedIn.NameAsync());
        return new UploadItem(Guid.NewGuid(), file.Name, outcome.Result, outcome.Error);
    }

    public void Dispose()
    {
        Predictions.ModelChanged -= OnModelChanged;
        GC.SuppressFinalize(this);
    }
}
