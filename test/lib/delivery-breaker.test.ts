import { Duration } from 'aws-cdk-lib';
import { EcwidEventsStack, type EcwidEventsStackProps } from '../../lib/ecwid-events-stack';
import { newApp } from './stack-helpers';

/** Builds (without bundling) and returns the error message, if any. */
function problemOf(props: EcwidEventsStackProps): string | undefined {
  try {
    new EcwidEventsStack(newApp({ context: { 'aws:cdk:bundling-stacks': [] } }), 'BreakerTest', props);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('circuit breaker properties', () => {
  test('out-of-range values are refused with the property named', () => {
    expect(problemOf({ breakerFailures: 0 })).toBe('breakerFailures must be a whole number from 1 to 1000, got 0');
    expect(problemOf({ breakerMinSpan: Duration.millis(1500) })).toBe('breakerMinSpan must be whole seconds from 0 to 1 day, got 1.5 s');
    expect(problemOf({ breakerProbeInterval: Duration.hours(2) })).toBe('breakerProbeInterval must be whole seconds from 1 s to 1 hour, got 7200 s');
    expect(problemOf({ receiverDisableAfter: Duration.minutes(10) })).toBe('receiverDisableAfter must be whole seconds from 1 hour to 30 days, got 600 s');
    expect(problemOf({ slowReceiverThreshold: Duration.millis(50) })).toBe(
      'slowReceiverThreshold must be whole milliseconds from 100 ms to the callback timeout (10000 ms), got 50 ms',
    );
    // Longer than the callback timeout: no attempt could ever be slow.
    expect(problemOf({ slowReceiverThreshold: Duration.seconds(5), callbackTimeout: Duration.seconds(4) })).toBe(
      'slowReceiverThreshold must be whole milliseconds from 100 ms to the callback timeout (4000 ms), got 5000 ms',
    );
    expect(problemOf({ slowReceiverMaxInFlight: 0 })).toBe('slowReceiverMaxInFlight must be a whole number from 1 to 100, got 0');
    expect(problemOf({ slowReceiverMaxInFlight: 2.5 })).toBe('slowReceiverMaxInFlight must be a whole number from 1 to 100, got 2.5');
  });

  test('the limits themselves are accepted', () => {
    expect(problemOf({ breakerFailures: 1, breakerMinSpan: Duration.seconds(0), breakerProbeInterval: Duration.seconds(1), receiverDisableAfter: Duration.hours(1) })).toBeUndefined();
    expect(problemOf({ slowReceiverThreshold: Duration.millis(100), slowReceiverMaxInFlight: 100 })).toBeUndefined();
    expect(problemOf({ slowReceiverThreshold: Duration.seconds(10), slowReceiverMaxInFlight: 1 })).toBeUndefined();
  });
});
