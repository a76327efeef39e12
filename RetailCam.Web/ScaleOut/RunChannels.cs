using RetailCam.Engine.Training;
using RetailCam.Web.Services;
using StackExchange.Redis;

namespace RetailCam.Web.ScaleOut;

/// <summary>
/// Redis pub/sub between the workers that train and the web nodes that show and steer runs: workers
/// publish every event of their runs and when they are done with one; web nodes publish commands.
/// Each subscriber gets a channel's messages in the order they were published.
/// </summary>
public sealed class RunChannels(IConnectionMultiplexer redis)
{
    private static readonly RedisChannel Events = RedisChannel.Literal("retailcam:runs:events");
    private static readonly RedisChannel Commands = RedisChannel.Literal("retailcam:runs:commands");

    // One character of kind, then the body: an event's JSON, or a run id.
    private const char EventKind = 'E';
    private const char EndedKind = 'X';

    /// <summary>Published without waiting: training never waits for Redis, and messages keep their order on the one connection.</summary>
    public void PublishEvent(TrainingEvent trainingEvent) =>
        redis.GetSubscriber().Publish(Events, EventKind + TrainingEventJson.Serialize(trainingEvent), CommandFlags.FireAndForget);

    public void PublishEnded(string runId) =>
        redis.GetSubscriber().Publish(Events, EndedKind + runId, CommandFlags.FireAndForget);

    public void PublishCommand(string runId, RunCommand command) =>
        redis.GetSubscriber().Publish(Commands, $"{command}:{runId}", CommandFlags.FireAndForget);

    public async Task<IAsyncDisposable> SubscribeEventsAsync(Func<TrainingEvent, Task> onEvent, Action<string> onEnded)
    {
        var queue = await redis.GetSubscriber().SubscribeAsync(Events);
        queue.OnMessage(async message =>
        {
            var text = (string?)message.Message;
            if (string.IsNullOrEmpty(text)) return;
            if (text[0] == EndedKind) onEnded(text[1..]);
            else if (text[0] == EventKind && TrainingEventJson.Deserialize(text[1..]) is { } e) await onEvent(e);
        });
        return new Unsubscribe(queue);
    }

    public async Task<IAsyncDisposable> SubscribeCommandsAsync(Action<string, RunCommand> onCommand)
    {
        var queue = await redis.GetSubscriber().SubscribeAsync(Commands);
        queue.OnMessage(message =>
        {
            var text = (string?)message.Message ?? "";
            var colon = text.IndexOf(':');
            if (colon > 0 && Enum.TryParse<RunCommand>(text[..colon], out var command)) onCommand(text[(colon + 1)..], command);
        });
        return new Unsubscribe(queue);
    }

    private sealed class Unsubscribe(ChannelMessageQueue queue) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await queue.UnsubscribeAsync();
    }
}
