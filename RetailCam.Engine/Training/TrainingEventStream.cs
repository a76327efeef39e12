using System.Threading.Channels;

namespace RetailCam.Engine.Training;

/// <summary>
/// Fans training events out to any number of consumers. Publishing never blocks: each subscriber has
/// its own bounded queue that drops its oldest batch events when the consumer falls behind, so a slow
/// web page can never slow the trainer. Epoch, status and snapshot events are rarer and matter more,
/// so they are queued without bound; a consumer that missed batch events catches up from the run's store.
/// </summary>
public sealed class TrainingEventStream
{
    private readonly Lock gate = new();
    private ImmutableSubscribers subscribers = new([]);

    public IDisposable Subscribe(Action<TrainingEvent> onEvent, int batchEventCapacity = 256)
    {
        var subscription = new Subscription(this, onEvent, batchEventCapacity);
        lock (gate) subscribers = new ImmutableSubscribers([.. subscribers.Items, subscription]);
        return subscription;
    }

    /// <summary>A subscription read as an async stream instead of a callback.</summary>
    public (IDisposable Subscription, ChannelReader<TrainingEvent> Reader) SubscribeChannel(int batchEventCapacity = 256)
    {
        var channel = Channel.CreateUnbounded<TrainingEvent>(new UnboundedChannelOptions { SingleReader = true });
        var subscription = Subscribe(e => channel.Writer.TryWrite(e), batchEventCapacity);
        return (new CompleteOnDispose(subscription, channel.Writer), channel.Reader);
    }

    public void Publish(TrainingEvent trainingEvent)
    {
        foreach (var subscriber in subscribers.Items)
            subscriber.Enqueue(trainingEvent);
    }

    public int SubscriberCount => subscribers.Items.Length;

    private void Remove(Subscription subscription)
    {
        lock (gate) subscribers = new ImmutableSubscribers(subscribers.Items.Where(s => s != subscription).ToArray());
    }

    private sealed record ImmutableSubscribers(Subscription[] Items);

    private sealed class CompleteOnDispose(IDisposable inner, ChannelWriter<TrainingEvent> writer) : IDisposable
    {
        public void Dispose()
        {
            inner.Dispose();
            writer.TryComplete();
        }
    }

    private sealed class Subscription : IDisposable
    {
        private readonly TrainingEventStream owner;
        private readonly Action<TrainingEvent> onEvent;
        private readonly Channel<TrainingEvent> batchEvents;
        private readonly Channel<TrainingEvent> otherEvents = Channel.CreateUnbounded<TrainingEvent>(new UnboundedChannelOptions { SingleReader = true });
        private readonly CancellationTokenSource stop = new();
        private readonly Task pump;

        [ThreadStatic] private static Subscription? delivering;

        public Subscription(TrainingEventStream owner, Action<TrainingEvent> onEvent, int capacity)
        {
            this.owner = owner;
            this.onEvent = onEvent;
            batchEvents = Channel.CreateBounded<TrainingEvent>(new BoundedChannelOptions(Math.Max(1, capacity))
            {
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleReader = true,
            });
            pump = Task.Run(PumpAsync);
        }

        public void Enqueue(TrainingEvent trainingEvent)
        {
            if (trainingEvent is BatchEnded) batchEvents.Writer.TryWrite(trainingEvent);
            else otherEvents.Writer.TryWrite(trainingEvent);
        }

        private async Task PumpAsync()
        {
            // Deliver in step order across both queues: rare events first when they are not newer.
            var token = stop.Token;
            try
            {
                while (!token.IsCancellationRequested)
                {
                    TrainingEvent? next = null;
                    var haveBatch = batchEvents.Reader.TryPeek(out var batch);
                    var haveOther = otherEvents.Reader.TryPeek(out var other);
                    if (haveOther && (!haveBatch || other!.Step <= batch!.Step)) otherEvents.Reader.TryRead(out next);
                    else if (haveBatch) batchEvents.Reader.TryRead(out next);

                    if (next is null)
                    {
                        // Completion finishes once a queue is closed and empty: then only the other is waited for.
                        var waits = new List<Task>(2);
                        if (!batchEvents.Reader.Completion.IsCompleted) waits.Add(batchEvents.Reader.WaitToReadAsync(token).AsTask());
                        if (!otherEvents.Reader.Completion.IsCompleted) waits.Add(otherEvents.Reader.WaitToReadAsync(token).AsTask());
                        if (waits.Count == 0) return;
                        await Task.WhenAny(waits);
                        continue;
                    }
                    delivering = this;
                    try { onEvent(next); }
                    catch (Exception) when (!token.IsCancellationRequested) { /* a failing consumer must not stop the others or the run */ }
                    finally { delivering = null; }
                }
            }
            catch (OperationCanceledException) { }
        }

        /// <summary>
        /// Stops receiving new events but delivers what is already queued (a run's last events reach
        /// its viewers), waiting a few seconds at most; a consumer disposing itself from its own
        /// callback does not wait for itself.
        /// </summary>
        public void Dispose()
        {
            owner.Remove(this);
            batchEvents.Writer.TryComplete();
            otherEvents.Writer.TryComplete();
            if (delivering != this && !pump.Wait(TimeSpan.FromSeconds(5))) stop.Cancel();
            if (delivering == this) stop.Cancel();
        }
    }
}
