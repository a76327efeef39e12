using Hangfire;
using Hangfire.States;
using RetailCam.Engine.Training;
using RetailCam.Web.Services;

namespace RetailCam.Web.ScaleOut;

/// <summary>A web node's way to training: runs become jobs on the training queue, commands and events go through Redis.</summary>
public sealed class HangfireRunDispatcher(IBackgroundJobClient jobs, RunChannels channels) : IRunDispatcher
{
    public Task EnqueueAsync(string runId, bool paused, CancellationToken cancellationToken)
    {
        jobs.Create<TrainingRunJob>(job => job.ExecuteAsync(runId, paused, CancellationToken.None), new EnqueuedState(JobsOptions.TrainingQueue));
        return Task.CompletedTask;
    }

    public void Send(string runId, RunCommand command) => channels.PublishCommand(runId, command);

    public void PublishStoppedWhileQueued(StatusChanged stopped)
    {
        channels.PublishEvent(stopped);
        channels.PublishEnded(stopped.RunId);
    }
}
