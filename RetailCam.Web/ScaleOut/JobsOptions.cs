using System.ComponentModel.DataAnnotations;

namespace RetailCam.Web.ScaleOut;

/// <summary>Where training runs and bulk categorisations execute.</summary>
public enum JobEngine
{
    /// <summary>In the web app's own process: the one-process default.</summary>
    InProcess,

    /// <summary>As Hangfire jobs in PostgreSQL, executed by RetailCam.Worker processes; the web nodes only enqueue and watch.</summary>
    Hangfire,
}

/// <summary>Section "RetailCam:Jobs".</summary>
public sealed class JobsOptions
{
    public const string SectionName = "RetailCam:Jobs";

    public const string TrainingQueue = "training";
    public const string BulkQueue = "bulk";

    [EnumDataType(typeof(JobEngine))]
    public JobEngine Engine { get; set; } = JobEngine.InProcess;

    /// <summary>
    /// The queues a worker takes jobs from: "training" on the machine with the device to train on,
    /// "bulk" (chunks of catalogue categorisations) on any.
    /// </summary>
    public string[] Queues { get; set; } = [TrainingQueue, BulkQueue];

    /// <summary>Photos per chunk of a bulk categorisation: the unit that workers share, retry and resume.</summary>
    [Range(1, 100_000)]
    public int BulkChunkSize { get; set; } = 256;

    /// <summary>
    /// How soon a job whose worker died (killed, machine lost) is handed to another one. A live worker
    /// keeps its jobs however long they run (Hangfire's sliding invisibility timeout).
    /// </summary>
    [Range(5, 3600)]
    public int InvisibilitySeconds { get; set; } = 60;

    /// <summary>Bulk chunks one worker processes at once; each already uses every core for its forward passes.</summary>
    [Range(1, 64)]
    public int BulkWorkers { get; set; } = 1;

    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        foreach (var queue in Queues)
            if (queue is not (TrainingQueue or BulkQueue))
                problems.Add($"RetailCam:Jobs:Queues holds '{queue}'; the queues are '{TrainingQueue}' and '{BulkQueue}'.");
        return problems;
    }
}
