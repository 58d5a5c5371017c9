"""Monitoring: is the data the champion now scores still like the data it learned from, and
does it still perform as its holdout promised? Pure statistics (drift, performance), kept
history, charts, and the schedule and sensors that evaluate and retrain."""
