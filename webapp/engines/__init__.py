"""What differs between the two database engines, one module each.

Everything else speaks through peewee's query builder, which writes each dialect itself.
"""
