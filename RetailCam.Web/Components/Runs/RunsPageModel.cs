using MudBlazor;
using RetailCam.Engine.Training;

namespace RetailCam.Web.Components.Runs;

public static class RunsPageModel
{
    public static Color StatusColour(RunStatus status) => status switch
    {
        RunStatus.Running => Color.Primary,
        RunStatus.Paused => Color.Warning,
        RunStatus.Completed => Color.Success,
        RunStatus.Failed => Color.Error,
        RunStatus.Interrupted => Color.Warning,
        _ => Color.Default,
    };

    public static string Duration(DateTime? started, DateTime? finished)
    {
        if (started is null) return "–";
        var span = (finished ?? DateTime.UtcNow) - started.Value;
        return span.TotalHours >= 1 ? span.ToString(@"h\:mm\:ss") : span.ToString(@"m\:ss");
    }
}
