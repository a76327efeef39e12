namespace RetailCam.Storage;

/// <summary>One training run, keyed by its run folder name; the folder stays the source of truth for artefacts.</summary>
public sealed class RunRecordEntity
{
    public required string Id { get; set; }
    public required string DataFolder { get; set; }
    public required string Backbone { get; set; }

    /// <summary>A <see cref="Engine.Training.RunStatus"/> name, stored as text so the column stays readable and new states need no migration.</summary>
    public required string Status { get; set; }

    public DateTime CreatedUtc { get; set; }
    public DateTime? StartedUtc { get; set; }
    public DateTime? FinishedUtc { get; set; }
    public double? BestAccuracy { get; set; }
    public double? MaxBoxAcc { get; set; }
    public long Steps { get; set; }
    public int Epochs { get; set; }
    public double? ImagesPerSecond { get; set; }
    public string OptionsJson { get; set; } = "{}";
    public string? Error { get; set; }

    /// <summary>The dataset of the app the run was started from, when it was (not a bare folder).</summary>
    public string? DatasetId { get; set; }

    /// <summary>SHA-256 of the list of photos and their hashes the run trained on (run folder's dataset.json).</summary>
    public string? DatasetVersion { get; set; }

    /// <summary>The app's shutdown stopped the run, not a user: the next start resumes it from its checkpoint.</summary>
    public bool ResumeOnStart { get; set; }

    public List<EpochMetricEntity> EpochMetrics { get; set; } = [];
}

/// <summary>Train and held-out metrics of one epoch of one run.</summary>
public sealed class EpochMetricEntity
{
    public long Id { get; set; }
    public required string RunId { get; set; }
    public int Epoch { get; set; }
    public long Step { get; set; }
    public double TrainLoss { get; set; }
    public double TrainAccuracy { get; set; }
    public double ValidationLoss { get; set; }
    public double ValidationAccuracy { get; set; }

    /// <summary>JSON array of per-class accuracy, in class-index order.</summary>
    public string PerClassJson { get; set; } = "[]";

    /// <summary>JSON array of rows (true class) of counts per predicted class.</summary>
    public string ConfusionJson { get; set; } = "[]";

    public DateTime AtUtc { get; set; }
}

/// <summary>An uploaded photo, stored once per distinct content.</summary>
public sealed class UploadEntity
{
    /// <summary>SHA-256 of the bytes, 64 lower-case hex characters.</summary>
    public required string ContentHash { get; set; }

    /// <summary>The name the content arrived under the first time; later uploads of the same bytes keep it.</summary>
    public required string FileName { get; set; }

    /// <summary>Image format as the decoder names it from the header (JPEG, PNG, …), not as the client claimed.</summary>
    public required string Format { get; set; }

    public long Length { get; set; }
    public int Width { get; set; }
    public int Height { get; set; }

    /// <summary>Relative to the data root with '/' separators, so the data root can move.</summary>
    public required string StoredPath { get; set; }

    public DateTime FirstSeenUtc { get; set; }

    /// <summary>The user name of who uploaded it first; null for uploads from before sign-in, or from the app itself.</summary>
    public string? Owner { get; set; }
}

/// <summary>One prediction made for an uploaded photo.</summary>
public sealed class PredictionRecordEntity
{
    public Guid Id { get; set; }
    public DateTime AtUtc { get; set; }
    public required string ModelId { get; set; }
    public required string ContentHash { get; set; }
    public required string FileName { get; set; }
    public required string TopCategory { get; set; }
    public double TopProbability { get; set; }

    /// <summary>The JSON of <see cref="Engine.Inference.PredictionJson.Describe"/>, as the API answered it.</summary>
    public required string ResultJson { get; set; }

    /// <summary>Class-map method name (Cam, GradCam, …).</summary>
    public required string Method { get; set; }

    /// <summary>The user name of who asked for the prediction; null before sign-in.</summary>
    public string? Owner { get; set; }

    public UploadEntity? Upload { get; set; }
}

/// <summary>
/// A dataset the team edits in the app: a folder tree of categories, either created under the data
/// root's datasets/ folder or an existing tree registered from under a configured folder root.
/// </summary>
public sealed class DatasetEntity
{
    /// <summary>A path segment (<see cref="Engine.Layout.PathSegment"/>), the dataset's folder name when created in the app.</summary>
    public required string Id { get; set; }

    public required string Name { get; set; }

    /// <summary>Absolute path of the tree's root.</summary>
    public required string Folder { get; set; }

    /// <summary>True for a tree that existed before and was registered; deleting it from the app never deletes its folder.</summary>
    public bool Registered { get; set; }

    public DateTime CreatedUtc { get; set; }
}

/// <summary>An uploaded photo filed into a category of a dataset: what went where, when, and by whom.</summary>
public sealed class FiledPhotoEntity
{
    public Guid Id { get; set; }
    public required string ContentHash { get; set; }
    public required string DatasetId { get; set; }
    public required string Category { get; set; }

    /// <summary>The file name the photo has in its category.</summary>
    public required string FileName { get; set; }

    /// <summary>Who filed it; null until people sign in.</summary>
    public string? FiledBy { get; set; }

    /// <summary>Where the decision came from: "predict" (accepted or corrected on a result) or "review".</summary>
    public required string Source { get; set; }

    public DateTime AtUtc { get; set; }
}

/// <summary>A prediction not sure enough to file by itself, waiting for a reviewer.</summary>
public sealed class ReviewItemEntity
{
    public Guid Id { get; set; }
    public required string ContentHash { get; set; }
    public required string FileName { get; set; }
    public required string ModelId { get; set; }

    /// <summary>The deepest level of the path that cleared the confidence threshold, if any.</summary>
    public string? FiledUnder { get; set; }

    public required string TopCategory { get; set; }
    public double TopProbability { get; set; }

    /// <summary>JSON array of the top categories ({"category","probability"}), best first, for one-key choices.</summary>
    public string TopJson { get; set; } = "[]";

    public bool NotInCatalogue { get; set; }

    /// <summary>"page" or "api": where the photo was predicted.</summary>
    public required string Source { get; set; }

    public DateTime CreatedUtc { get; set; }

    /// <summary>Null while open; then the filing it was answered with, or "dismissed".</summary>
    public string? Resolution { get; set; }

    public DateTime? ResolvedUtc { get; set; }
    public string? ResolvedBy { get; set; }
}
