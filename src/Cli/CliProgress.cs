using Spectre.Console;

namespace MemNotebook.Cli;

/// <summary>
/// An <see cref="IProgress{T}"/> of fractions 0…1 that forwards only values above the last one (clamped to 0…1), so
/// that a bar never moves back when a step reports per pass or per stream; <see cref="Complete"/> ends it at 1.0.
/// Reports arrive on the working thread (Progress&lt;T&gt; would post them to the thread pool, late and out of order).
/// </summary>
internal sealed class MonotonicProgress(Action<double> sink) : IProgress<double>
{
    private double last = double.NegativeInfinity;

    public void Report(double value)
    {
        if (double.IsNaN(value))
            return;
        value = Math.Clamp(value, 0.0, 1.0);
        if (value <= last)
            return;
        last = value;
        sink(value);
    }

    /// <summary>Reports 1.0 unless it was reported already.</summary>
    public void Complete() => Report(1.0);
}

/// <summary>The steps of one long CLI operation, each a line of the progress display (or nothing at all).</summary>
internal interface IProgressSteps
{
    /// <summary>Starts a step (ending the one before at 100%): its progress, or null when nothing is shown.</summary>
    IProgress<double>? Step(string description);

    /// <summary>Starts a step whose progress is not known (a spinning bar until the next step or the end).</summary>
    void Indeterminate(string description);
}

/// <summary>
/// Progress of long CLI steps (converting a capture to Arrow, building a report): a Spectre.Console progress display
/// on stderr when stderr is a terminal, cleared when done; nothing at all when it is not, so piped or redirected output
/// is exactly what it is without it.
/// </summary>
internal static class CliProgress
{
    public static T Run<T>(TextWriter error, Func<IProgressSteps, T> work)
    {
        if (Terminal.On(error) is not { } terminal)
            return work(Quiet.Instance);
        var result = default(T)!;
        terminal.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var steps = new Shown(context);
                result = work(steps);
                steps.End();
            });
        return result;
    }

    private sealed class Quiet : IProgressSteps
    {
        public static readonly Quiet Instance = new();
        public IProgress<double>? Step(string description) => null;
        public void Indeterminate(string description) { }
    }

    private sealed class Shown(ProgressContext context) : IProgressSteps
    {
        private ProgressTask? task;
        private MonotonicProgress? progress;

        public IProgress<double> Step(string description)
        {
            End();
            var current = task = context.AddTask(Markup.Escape(description), maxValue: 1.0);
            return progress = new MonotonicProgress(value => current.Value = value);
        }

        public void Indeterminate(string description)
        {
            End();
            task = context.AddTask(Markup.Escape(description), maxValue: 1.0);
            task.IsIndeterminate = true;
        }

        public void End()
        {
            if (task is null)
                return;
            progress?.Complete();
            task.IsIndeterminate = false;
            task.Value = 1.0;
            task.StopTask();
            task = null;
            progress = null;
        }
    }
}
