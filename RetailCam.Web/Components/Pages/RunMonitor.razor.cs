using System.Collections.Concurrent;
using Microsoft.AspNetCore.Components;
using Plotly.Blazor;
using Plotly.Blazor.LayoutLib;
using Plotly.Blazor.Traces;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Layout;
using RetailCam.Engine.Models.Storage;
using RetailCam.Engine.Training;
using RetailCam.Storage;
using RetailCam.Web.Services;

namespace RetailCam.Web.Components.Pages;

/// <summary>
/// One run, live: the stored history first, then the live tail. Curves grow with ExtendTrace (points
/// appended, never the whole chart redrawn), batched once a second so a fast run cannot flood the circuit.
/// </summary>
public partial class RunMonitor
{
    [Parameter] public string RunId { get; set; } = "";
    [Inject] private TrainingRunService Runs { get; set; } = null!;

    private readonly ConcurrentQueue<TrainingEvent> pending = new();
    private readonly Config config = new() { Responsive = true, DisplayModeBar = Plotly.Blazor.ConfigLib.DisplayModeBarEnum.False };
    private readonly List<SnapshotTaken> snapshots = [];
    private IReadOnlyList<string> categories = [];
    private RunRecordEntity? record;
    private LiveRun? live;
    private IDisposable? subscription;
    private Timer? flush;
    private BatchEnded? lastBatch;
    private RunStatus status = RunStatus.Pending;
    private long lastStoredStep = -1;

    private PlotlyChart? lossChart, accuracyChart, rateChart, confusionChart, perClassChart;
    private readonly IList<ITrace> lossData = [Line("train"), Line("validation", markers: true)];
    private readonly IList<ITrace> accuracyData = [Line("train"), Line("validation", markers: true)];
    private readonly IList<ITrace> rateData = [Line("learning rate")];
    private readonly IList<ITrace> confusionData = [new HeatMap { Z = [], X = [], Y = [], ColorScale = "Blues", ReverseScale = true }];
    private readonly IList<ITrace> perClassData = [new Bar { X = [], Y = [], Orientation = Plotly.Blazor.Traces.BarLib.OrientationEnum.H }];
    private readonly Plotly.Blazor.Layout lossLayout = Chart("Loss");
    private readonly Plotly.Blazor.Layout accuracyLayout = Chart("Accuracy");
    private readonly Plotly.Blazor.Layout rateLayout = Chart("Learning rate");
    private readonly Plotly.Blazor.Layout confusionLayout = Chart("Confusion (validation, rows: true)", 360);
    private readonly Plotly.Blazor.Layout perClassLayout = Chart("Per-class accuracy (validation)", 360, legend: false);

    [Inject] private NavigationManager Navigation { get; set; } = null!;
    [Inject] private MudBlazor.ISnackbar Snackbar { get; set; } = null!;

    protected override async Task OnInitializedAsync()
    {
        record = await Runs.ListAsync().ContinueWith(t => t.Result.FirstOrDefault(r => r.Id == RunId));
        // An id that is no run (or no id at all, such as a path climbing out of the data root) is a 404, not an empty monitor.
        if (record is null && Runs.Live(RunId) is null)
        {
            Navigation.NotFound();
            return;
        }
        categories = PathSegment.IsValid(RunId) ? TrainingJob.ReadRunRecord(Runs.Paths(RunId).Folder)?.Categories ?? [] : [];
        if (Enum.TryParse<RunStatus>(record?.Status, out var stored)) status = stored;

        // Subscribe before reading the store, then drop live events the store already held: nothing is missed or shown twice.
        live = Runs.Live(RunId);
        if (live is not null)
        {
            status = live.Status;
            subscription = live.Events.Subscribe(pending.Enqueue);
        }
        foreach (var e in Runs.StoredEvents(RunId)) Apply(e, initial: true);
        lastStoredStep = lastBatch?.Step ?? -1;
        // A run that is not training is what the history says (Interrupted is never in its event log).
        if (live is null && Enum.TryParse(record?.Status, out stored)) status = stored;
    }

    /// <summary>A run that is not training but stopped before its end can go on from its last checkpoint.</summary>
    private bool CanContinue => live is null && Runs.Live(RunId) is null && status is RunStatus.Interrupted or RunStatus.Stopped or RunStatus.Failed;

    private async Task ContinueAsync()
    {
        try
        {
            await Runs.ContinueAsync(RunId);
            // A fresh page joins the live run: its stored history, then the tail.
            Navigation.NavigateTo(Navigation.Uri, forceLoad: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or InvalidDataException)
        {
            Snackbar.Add(ex.Message, MudBlazor.Severity.Error);
        }
    }

    /// <summary>A completed run whose best model is saved (and tuned): it can be downloaded as ONNX.</summary>
    private bool HasModel => status == RunStatus.Completed && !Finishing && PathSegment.IsValid(RunId) && ModelFolder.Exists(Runs.Paths(RunId).ModelFolder);

    /// <summary>The run's model id as GET /api/models lists it.</summary>
    private string ModelId => $"run:{RunId}";

    private string OnnxUrl => $"/api/models/{Uri.EscapeDataString(ModelId)}/onnx";

    private string OnnxFileName => OnnxDownload.FileNameFor(ModelId);

    /// <summary>Training has ended but the job is still at work: tuning serving on the validation split, storing its summary.</summary>
    private bool Finishing => live is not null && status is RunStatus.Completed or RunStatus.Stopped;

    protected override void OnAfterRender(bool firstRender)
    {
        if (firstRender && live is not null)
            flush = new Timer(_ => InvokeAsync(FlushAsync), null, 1000, 1000);
    }

    private bool flushing;

    /// <summary>Moves queued live events into the charts: batch points are appended, never the whole chart redrawn.</summary>
    private async Task FlushAsync()
    {
        // A slow browser must not let two flushes interleave at their awaits.
        if (flushing) return;
        flushing = true;
        try
        {
            var batches = new List<BatchEnded>();
            var redraw = false;
            var other = false;
            while (pending.TryDequeue(out var e))
            {
                if (e is BatchEnded b)
                {
                    if (b.Step <= lastStoredStep) continue;
                    batches.Add(b);
                    lastBatch = b;
                    continue;
                }
                if (e.Step <= lastStoredStep && e is not StatusChanged) continue;
                if (e is SnapshotTaken s && snapshots.Any(x => x.Step == s.Step && x.ProbeIndex == s.ProbeIndex)) continue;
                redraw |= e is EpochEnded;
                other = true;
                Apply(e, initial: false);
            }
            if (lossChart is null || accuracyChart is null || rateChart is null || confusionChart is null || perClassChart is null) return;
            if (batches.Count > 0)
            {
                var x = batches.Select(b => (object)b.Step).ToList();
                await lossChart.ExtendTrace(x, batches.Select(b => (object)b.Loss).ToList(), 0);
                await accuracyChart.ExtendTrace(x, batches.Select(b => (object)b.Accuracy).ToList(), 0);
                await rateChart.ExtendTrace(x, batches.Select(b => (object)b.LearningRate).ToList(), 0);
            }
            if (redraw)
            {
                // Validation points are rare: they join the server-side traces (which ExtendTrace keeps
                // in step with the browser) and those charts are redrawn once.
                await lossChart.React();
                await accuracyChart.React();
                await confusionChart.React();
                await perClassChart.React();
            }
            // The run's status turns final before the job has tuned serving and stored its summary; say when it is all done.
            var wasFinishing = Finishing;
            if (live is not null && Runs.Live(RunId) is null) live = null;
            if (batches.Count > 0 || other || wasFinishing != Finishing) StateHasChanged();
        }
        finally
        {
            flushing = false;
        }
    }

    private void Apply(TrainingEvent e, bool initial)
    {
        switch (e)
        {
            case BatchEnded b:
                lastBatch = b;
                if (initial)
                {
                    Add(lossData[0], b.Step, b.Loss);
                    Add(accuracyData[0], b.Step, b.Accuracy);
                    Add(rateData[0], b.Step, b.LearningRate);
                }
                break;
            case EpochEnded epoch:
                // Validation points are rare: add them and redraw those charts.
                Add(lossData[1], epoch.Step, epoch.Validation.Loss);
                Add(accuracyData[1], epoch.Step, epoch.Validation.Accuracy);
                ShowConfusion(epoch.Validation);
                break;
            case StatusChanged s:
                status = s.Status;
                break;
            case SnapshotTaken snapshot:
                snapshots.Add(snapshot);
                break;
        }
    }

    private void ShowConfusion(ValidationResult validation)
    {
        var names = categories.Count == validation.Confusion.Length
            ? categories.Select(c => (object)c[(c.LastIndexOf('/') + 1)..]).ToList()
            : Enumerable.Range(0, validation.Confusion.Length).Select(i => (object)$"#{i}").ToList();
        var heatmap = (HeatMap)confusionData[0];
        heatmap.Z = validation.Confusion.Select(row => (object)row.Select(v => (object)v).ToList()).ToList();
        heatmap.X = names;
        heatmap.Y = names;
        var bar = (Bar)perClassData[0];
        bar.Y = names;
        bar.X = validation.PerClassAccuracy.Select(v => (object)v).ToList();
    }

    private static void Add(ITrace trace, long x, double y)
    {
        var scatter = (Scatter)trace;
        scatter.X.Add(x);
        scatter.Y.Add(y);
    }

    private static Scatter Line(string name, bool markers = false) => new()
    {
        Name = name,
        Mode = markers ? Plotly.Blazor.Traces.ScatterLib.ModeFlag.Lines | Plotly.Blazor.Traces.ScatterLib.ModeFlag.Markers : Plotly.Blazor.Traces.ScatterLib.ModeFlag.Lines,
        X = [],
        Y = [],
    };

    private static Plotly.Blazor.Layout Chart(string title, int height = 260, bool legend = true) => new()
    {
        Title = new Title { Text = title },
        Height = height,
        Margin = new Margin { L = 70, R = 10, T = 40, B = 40 },
        ShowLegend = legend,
        Legend = [new Legend { Orientation = Plotly.Blazor.LayoutLib.LegendLib.OrientationEnum.H }],
    };

    public async ValueTask DisposeAsync()
    {
        if (flush is not null) await flush.DisposeAsync();
        subscription?.Dispose();
        GC.SuppressFinalize(this);
    }
}
