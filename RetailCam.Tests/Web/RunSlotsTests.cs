using RetailCam.Web.Services;

namespace RetailCam.Tests.Web;

public class RunSlotsTests
{
    [Fact]
    public async Task Runs_beyond_the_slots_wait_in_order_and_a_stopped_one_leaves_the_queue_at_once()
    {
        var slots = new RunSlots(1);
        Assert.True(slots.EnterAsync("a", CancellationToken.None).IsCompleted);
        var b = slots.EnterAsync("b", CancellationToken.None);
        using var stopC = new CancellationTokenSource();
        var c = slots.EnterAsync("c", stopC.Token);
        var d = slots.EnterAsync("d", CancellationToken.None);
        Assert.Equal(["b", "c", "d"], slots.Waiting);
        Assert.Equal((1, 2, 3, 0), (slots.PositionOf("b"), slots.PositionOf("c"), slots.PositionOf("d"), slots.PositionOf("a")));

        await stopC.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => c);
        Assert.Equal(["b", "d"], slots.Waiting);

        slots.Leave(); // a ends: b's turn, not d's
        await b.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(d.IsCompleted);
        slots.Leave(); // b ends
        await d.WaitAsync(TimeSpan.FromSeconds(5));
        slots.Leave(); // d ends: the slot is free again
        Assert.True(slots.EnterAsync("e", CancellationToken.None).IsCompleted);
    }
}
